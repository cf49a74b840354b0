package org.resnet4j.bench;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * The load benchmark's plain HTTP/1.1 client: one prepared request (head and body in one array,
 * sent with one write) over kept-alive loopback sockets, the answer's body read and dropped. The
 * benchmark's clients share the server's cores, so what the client costs is counted against the
 * server: the JDK's HttpClient (a selector thread, asynchronous hand-offs, the body copied in
 * chunks) cost about 0.3-0.5 ms a request more here. Only what this benchmark needs: fixed-length
 * answers (the server sends no chunked ones), no redirects, no TLS.
 */
final class LoopbackClient {
    private final int port;
    private final byte[] request;
    private final ConcurrentLinkedQueue<Connection> idle = new ConcurrentLinkedQueue<>();

    LoopbackClient(int port, String path, Map<String, String> headers, byte[] body) {
        this.port = port;
        StringBuilder head = new StringBuilder("POST ").append(path).append(" HTTP/1.1\r\nHost: 127.0.0.1:").append(port).append("\r\n");
        headers.forEach((k, v) -> head.append(k).append(": ").append(v).append("\r\n"));
        head.append("Content-Length: ").append(body.length).append("\r\n\r\n");
        byte[] h = head.toString().getBytes(StandardCharsets.US_ASCII);
        request = Arrays.copyOf(h, h.length + body.length);
        System.arraycopy(body, 0, request, h.length, body.length);
    }

    /**
     * A kept-alive connection idle longer than this is closed rather than used: the JDK's server
     * closes connections idle for 30 s (sun.net.httpserver.idleInterval), and a request sent on
     * one it is closing gets no answer.
     */
    static final long MAX_IDLE_NANOS = 20_000_000_000L;

    /**
     * Sends the request on an idle connection (or a new one) and returns the answer's status code.
     * A reused connection that fails before any of the answer arrived is one the server closed
     * meanwhile: the request goes again, once, on a new connection, as HTTP clients do.
     */
    int send() throws IOException {
        Connection c;
        while ((c = idle.poll()) != null && System.nanoTime() - c.lastUsed > MAX_IDLE_NANOS) c.socket.close();
        if (c == null) return send(newConnection());
        try {
            return send(c);
        } catch (IOException stale) {
            if (c.answerStarted) throw stale;
            return send(newConnection());
        }
    }

    private Connection newConnection() throws IOException {
        return new Connection(new Socket(InetAddress.getLoopbackAddress(), port));
    }

    private int send(Connection c) throws IOException {
        try {
            int status = c.exchange(request);
            c.lastUsed = System.nanoTime();
            if (c.reusable) idle.add(c);
            else c.socket.close();
            return status;
        } catch (IOException e) {
            c.socket.close();
            throw e;
        }
    }

    private static final class Connection {
        final Socket socket;
        final OutputStream out;
        final InputStream in;
        final byte[] sink = new byte[1 << 16];
        boolean reusable, answerStarted;
        long lastUsed = System.nanoTime();

        Connection(Socket s) throws IOException {
            socket = s;
            s.setTcpNoDelay(true);
            out = s.getOutputStream();
            in = new BufferedInputStream(s.getInputStream(), 1 << 16);
        }

        int exchange(byte[] request) throws IOException {
            answerStarted = false;
            out.write(request);
            String status = line();
            if (!status.startsWith("HTTP/1.1 ") || status.length() < 12) throw new IOException("bad status line: " + status);
            int code = Integer.parseInt(status.substring(9, 12));
            long length = -1;
            reusable = true;
            for (String h; !(h = line()).isEmpty(); ) {
                int colon = h.indexOf(':');
                if (colon < 0) continue;
                String name = h.substring(0, colon).trim().toLowerCase(Locale.ROOT), value = h.substring(colon + 1).trim();
                if (name.equals("content-length")) length = Long.parseLong(value);
                if (name.equals("connection") && value.equalsIgnoreCase("close")) reusable = false;
                if (name.equals("transfer-encoding")) throw new IOException("chunked answers are not read here");
            }
            if (length < 0) { // no length: the body ends with the connection
                while (in.read(sink) >= 0) { }
                reusable = false;
                return code;
            }
            for (long left = length; left > 0; ) {
                int n = in.read(sink, 0, (int) Math.min(sink.length, left));
                if (n < 0) throw new IOException("connection closed " + left + " bytes before the answer's end");
                left -= n;
            }
            return code;
        }

        private final StringBuilder sb = new StringBuilder();

        /** One header line, without its CRLF. */
        private String line() throws IOException {
            sb.setLength(0);
            for (int b; (b = in.read()) != '\n'; ) {
                if (b < 0) throw new IOException("connection closed in the answer's head");
                answerStarted = true;
                if (b != '\r') sb.append((char) b);
            }
            return sb.toString();
        }
    }
}
