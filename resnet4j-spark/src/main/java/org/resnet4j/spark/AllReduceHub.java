package org.resnet4j.spark;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.resnet4j.autograd.ops.SyncBatchNormOp;

/**
 * The all-reduce of synchronized batch norm, served by the driver: each replica of a step
 * connects over TCP, and for every call the hub reads one array from each replica, adds them in
 * replica order (so all replicas get the same bits) and sends the sum back to all. A star through
 * the driver, as Spark's own barrier allGather is (its BarrierCoordinator runs on the driver).
 *
 * <p>Why not allGather itself: a task waits for its answer by sleeping a second at a time
 * (Thread.sleep(1000) in BarrierTaskContext.runBarrier, Spark 4.2.0), so each call took about a
 * second, and ResNet-20 makes 57 of them per step (three for each of its 19 batch norms). The
 * barrier stage is kept for what only it gives: all replicas running at once, or the job refused
 * when the cluster lacks the slots, rather than replicas waiting forever for one never scheduled.
 *
 * <p>The hub listens on the driver's host ({@code spark.driver.host}) on a free port; executors
 * must be able to reach it as they reach the driver. Each step has a random token that a replica
 * must present; it keeps strays of another step out, it is not authentication.
 */
final class AllReduceHub implements AutoCloseable {
    /** How long the hub waits for a replica to connect or to send its next array. */
    static final int TIMEOUT_MS = 120_000;
    private final ServerSocket server;
    private final String host;
    private final ExecutorService thread = Executors.newSingleThreadExecutor(Thread.ofPlatform().daemon().name("resnet4j-allreduce").factory());

    AllReduceHub(String host) {
        try {
            this.host = host;
            this.server = new ServerSocket(0, 64, InetAddress.getByName(host));
            server.setSoTimeout(1000); // accept wakes up every second to see whether the step was abandoned
        } catch (IOException e) {
            throw new UncheckedIOException("cannot listen on " + host + " for synchronized batch norm: " + e.getMessage(), e);
        }
    }

    /** host:port for the replicas. */
    String address() {
        return host + ":" + server.getLocalPort();
    }

    /** Serves one step's {@code replicas} in the background; the future fails if the exchange does. */
    Future<?> serve(String token, int replicas) {
        return thread.submit(() -> {
            serveStep(token, replicas);
            return null;
        });
    }

    private void serveStep(String token, int replicas) throws IOException {
        Socket[] sockets = new Socket[replicas];
        DataInputStream[] in = new DataInputStream[replicas];
        DataOutputStream[] out = new DataOutputStream[replicas];
        try {
            long deadline = System.nanoTime() + TIMEOUT_MS * 1_000_000L;
            for (int joined = 0; joined < replicas; ) {
                if (Thread.currentThread().isInterrupted()) return;
                if (System.nanoTime() > deadline) throw new IOException("only " + joined + " of " + replicas + " replicas connected");
                Socket s;
                try {
                    s = server.accept();
                } catch (SocketTimeoutException e) {
                    continue;
                }
                s.setSoTimeout(TIMEOUT_MS);
                s.setTcpNoDelay(true); // a call is one small message each way: no Nagle delay
                DataInputStream i = new DataInputStream(new BufferedInputStream(s.getInputStream()));
                int rank;
                try {
                    rank = i.readUTF().equals(token) ? i.readInt() : -1;
                } catch (IOException e) {
                    rank = -1;
                }
                if (rank < 0 || rank >= replicas || sockets[rank] != null) {
                    s.close();
                    continue;
                }
                sockets[rank] = s;
                in[rank] = i;
                out[rank] = new DataOutputStream(new BufferedOutputStream(s.getOutputStream()));
                joined++;
            }
            while (true) {
                int length = in[0].readInt();
                if (length < 0) break; // replica 0 is done: so are all, as they run the same layers
                double[] sum = new double[length];
                for (int r = 0; r < replicas; r++) {
                    int n = r == 0 ? length : in[r].readInt();
                    if (n != length) throw new IOException("replica " + r + " sent " + n + " values, replica 0 " + length + ": the replicas run different layers");
                    for (int k = 0; k < length; k++) sum[k] += in[r].readDouble();
                }
                for (DataOutputStream o : out) {
                    for (double v : sum) o.writeDouble(v);
                    o.flush();
                }
            }
        } finally {
            for (Socket s : sockets) if (s != null) s.close();
        }
    }

    @Override
    public void close() {
        thread.shutdownNow();
        try {
            server.close();
        } catch (IOException ignored) {
            // closing a listening socket: nothing to recover
        }
    }

    /** A replica's end: connects once per step, then one round trip per {@link #sum}. */
    static final class Client implements SyncBatchNormOp.AllReduce, AutoCloseable {
        private final Socket socket;
        private final DataInputStream in;
        private final DataOutputStream out;

        Client(String address, String token, int rank) {
            int colon = address.lastIndexOf(':');
            try {
                socket = new Socket(address.substring(0, colon), Integer.parseInt(address.substring(colon + 1)));
                socket.setSoTimeout(TIMEOUT_MS);
                socket.setTcpNoDelay(true);
                in = new DataInputStream(new BufferedInputStream(socket.getInputStream()));
                out = new DataOutputStream(new BufferedOutputStream(socket.getOutputStream()));
                out.writeUTF(token);
                out.writeInt(rank);
                out.flush();
            } catch (IOException e) {
                throw new UncheckedIOException("replica " + rank + " cannot reach the driver's all-reduce at " + address + ": " + e.getMessage(), e);
            }
        }

        @Override
        public void sum(double[] values) {
            try {
                out.writeInt(values.length);
                for (double v : values) out.writeDouble(v);
                out.flush();
                for (int i = 0; i < values.length; i++) values[i] = in.readDouble();
            } catch (IOException e) {
                throw new UncheckedIOException("synchronized batch norm: the all-reduce failed: " + e.getMessage(), e);
            }
        }

        /** Tells the hub this replica is done, then closes. */
        @Override
        public void close() {
            try (socket) {
                out.writeInt(-1);
                out.flush();
            } catch (IOException ignored) {
                // the hub may already have closed after replica 0's end
            }
        }
    }
}
