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
import java.util.ArrayList;
import java.util.List;
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
    /** How long the hub waits, by default, for a replica to connect or to send its next array. */
    static final int TIMEOUT_MS = 120_000;
    private final ServerSocket server;
    private final String host;
    private volatile int timeoutMs;
    /** The sockets of the exchange being served, closed by {@link #abort}; null when none. */
    private List<Socket> current;
    private boolean aborted;
    private final ExecutorService thread = Executors.newSingleThreadExecutor(Thread.ofPlatform().daemon().name("resnet4j-allreduce").factory());

    /** @param timeoutMs how long to wait for a replica to connect or to send its next array */
    AllReduceHub(String host, int timeoutMs) {
        try {
            this.host = host;
            this.timeoutMs = timeoutMs;
            this.server = new ServerSocket(0, 64, InetAddress.getByName(host));
            server.setSoTimeout(1000); // accept wakes up every second to see whether the step was abandoned
        } catch (IOException e) {
            throw new UncheckedIOException("cannot listen on " + host + " for synchronized batch norm: " + e.getMessage(), e);
        }
    }

    /** Sets the wait for the following exchanges. */
    void timeoutMs(int ms) {
        timeoutMs = ms;
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

    /**
     * Ends the exchange being served, if any: closes its sockets, so that a hub blocked reading
     * a replica that will never send (its task failed or was killed) stops at once, and replicas
     * still waiting for a sum fail instead of waiting out the timeout.
     */
    synchronized void abort() {
        aborted = true;
        if (current != null) {
            for (Socket s : current) {
                try {
                    s.close();
                } catch (IOException ignored) {
                    // closing to wake a blocked reader: nothing to recover
                }
            }
        }
    }

    /** Adds an accepted socket to the current exchange; false (and closed) when that was aborted. */
    private synchronized boolean register(Socket s) throws IOException {
        if (aborted) {
            s.close();
            return false;
        }
        current.add(s);
        return true;
    }

    private void serveStep(String token, int replicas) throws IOException {
        int timeoutMs = this.timeoutMs; // one value for the whole exchange
        synchronized (this) {
            current = new ArrayList<>();
            aborted = false;
        }
        Socket[] sockets = new Socket[replicas];
        DataInputStream[] in = new DataInputStream[replicas];
        DataOutputStream[] out = new DataOutputStream[replicas];
        try {
            long deadline = System.nanoTime() + timeoutMs * 1_000_000L;
            for (int joined = 0; joined < replicas; ) {
                if (Thread.currentThread().isInterrupted()) return;
                if (System.nanoTime() > deadline) {
                    throw new IOException("only " + joined + " of " + replicas + " replicas joined the batch-norm all-reduce within "
                            + timeoutMs / 1000.0 + " s");
                }
                Socket s;
                try {
                    s = server.accept();
                } catch (SocketTimeoutException e) {
                    continue;
                }
                if (!register(s)) return;
                s.setSoTimeout(timeoutMs);
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
                int length = read(in, 0, timeoutMs);
                if (length < 0) break; // replica 0 is done: so are all, as they run the same layers
                double[] sum = new double[length];
                for (int r = 0; r < replicas; r++) {
                    int n = r == 0 ? length : read(in, r, timeoutMs);
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
            synchronized (this) {
                current = null;
            }
        }
    }

    /** Replica {@code r}'s next array length, or an error that says which replica is missing and why. */
    private static int read(DataInputStream[] in, int r, int timeoutMs) throws IOException {
        try {
            return in[r].readInt();
        } catch (SocketTimeoutException e) {
            throw new IOException("replica " + r + " sent no batch-norm sums for " + timeoutMs / 1000.0 + " s", e);
        } catch (java.io.EOFException e) {
            throw new IOException("replica " + r + " left the batch-norm all-reduce (its task ended)", e);
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

        private boolean finished;

        Client(String address, String token, int rank, int timeoutMs) {
            int colon = address.lastIndexOf(':');
            try {
                socket = new Socket(address.substring(0, colon), Integer.parseInt(address.substring(colon + 1)));
                socket.setSoTimeout(timeoutMs);
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

        /** Marks the pass as complete: {@link #close} then tells the hub so. */
        void finished() {
            finished = true;
        }

        /**
         * Tells the hub this replica is done if its pass completed, then closes; a replica whose
         * task failed just closes, which the hub reads as the replica leaving.
         */
        @Override
        public void close() {
            try (socket) {
                if (finished) {
                    out.writeInt(-1);
                    out.flush();
                }
            } catch (IOException ignored) {
                // the hub may already have closed after replica 0's end
            }
        }
    }
}
