package org.resnet4j.serve;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetSocketAddress;

/**
 * The JDK's HTTP server and its JVM-wide settings, which it reads from system properties once,
 * when the first server of the JVM starts: set here before that, unless the JVM was started with
 * them.
 */
final class JdkHttp {
    private JdkHttp() {}

    /**
     * Slow clients: the JDK's server disconnects a client that has not sent its whole request (head
     * and body) within {@code sun.net.httpserver.maxReqTime} seconds, or not taken its whole answer
     * within {@code sun.net.httpserver.maxRspTime}; both are off by default, so a client that
     * trickles bytes would hold its connection forever. resnet4j makes them 30 s unless the JVM was
     * started with them set. The JDK reads them once, when its first server starts.
     */
    private static final String MAX_REQ_TIME = "sun.net.httpserver.maxReqTime", MAX_RSP_TIME = "sun.net.httpserver.maxRspTime";
    /**
     * TCP_NODELAY on accepted connections (the JDK's default is off): an answer larger than the
     * server's 8 KiB output buffer leaves in two writes (head, then body), and Nagle's algorithm
     * would hold the second until the client acknowledged the first. Set unless the JVM was started
     * with it.
     */
    private static final String NO_DELAY = "sun.net.httpserver.nodelay";
    private static final int DEFAULT_CLIENT_TIMEOUT_SECONDS = 30;
    private static volatile boolean httpStarted;

    static {
        if (System.getProperty(MAX_REQ_TIME) == null) System.setProperty(MAX_REQ_TIME, Integer.toString(DEFAULT_CLIENT_TIMEOUT_SECONDS));
        if (System.getProperty(MAX_RSP_TIME) == null) System.setProperty(MAX_RSP_TIME, Integer.toString(DEFAULT_CLIENT_TIMEOUT_SECONDS));
        if (System.getProperty(NO_DELAY) == null) System.setProperty(NO_DELAY, "true");
    }

    /**
     * Sets how long a client may take to send its request and to take its answer before it is
     * disconnected (default 30 s). JVM-wide, and only before the first server of this JVM starts.
     *
     * @throws IllegalStateException when a server already started with another value
     */
    static synchronized void setClientTimeoutSeconds(int seconds) {
        if (seconds < 1) throw new IllegalArgumentException("client timeout must be >= 1 s, got " + seconds);
        String v = Integer.toString(seconds);
        if (httpStarted) {
            if (v.equals(System.getProperty(MAX_REQ_TIME)) && v.equals(System.getProperty(MAX_RSP_TIME))) return;
            throw new IllegalStateException("the client timeout is read once per JVM, when its first server starts; it is "
                    + System.getProperty(MAX_REQ_TIME) + " s here, cannot become " + v + " s");
        }
        System.setProperty(MAX_REQ_TIME, v);
        System.setProperty(MAX_RSP_TIME, v);
    }

    /** A server bound to {@code address}, the settings above in force. */
    static synchronized HttpServer create(InetSocketAddress address, int backlog) throws IOException {
        httpStarted = true;
        return HttpServer.create(address, backlog);
    }
}
