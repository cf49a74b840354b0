package org.resnet4j.serve;

import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Admission before work: a bound on the inference requests in flight (being read, parsed,
 * decoded, queued or run) and on the bytes they hold. A request takes a permit before its body
 * is read, and reserves bytes before each thing it allocates: its body from the declared
 * Content-Length, its tensor once the declared shape has been checked, its pixels once the image
 * header has been read. Past either bound it is refused at once (503 with Retry-After) rather
 * than allowed to allocate, so what clients send can fill the server's budget but never its heap.
 * TorchServe bounds its job queue and Triton its request queue the same way; neither lets the
 * request body itself go unaccounted.
 */
final class Admission {
    private final Semaphore permits;
    private final int maxRequests;
    private final long maxBytes;
    private final AtomicLong held = new AtomicLong();

    Admission(int maxRequests, long maxBytes) {
        if (maxRequests < 1) throw new IllegalArgumentException("the bound on requests in flight must be >= 1, got " + maxRequests);
        if (maxBytes < 1) throw new IllegalArgumentException("the bound on bytes in flight must be >= 1, got " + maxBytes);
        this.permits = new Semaphore(maxRequests);
        this.maxRequests = maxRequests;
        this.maxBytes = maxBytes;
    }

    /** A request let in, or null when {@link #maxRequests()} are already in flight. */
    Ticket enter() {
        return permits.tryAcquire() ? new Ticket() : null;
    }

    int maxRequests() {
        return maxRequests;
    }

    long maxBytes() {
        return maxBytes;
    }

    /** Requests in flight now. */
    int inFlight() {
        return maxRequests - permits.availablePermits();
    }

    /** Bytes reserved by the requests in flight now. */
    long heldBytes() {
        return held.get();
    }

    /** Why a reservation failed. */
    enum Refusal {
        /** More than the whole budget for one request: it can never be served here (413). */
        TOO_LARGE,
        /** The budget is taken by other requests now: retry shortly (503). */
        BUSY
    }

    /** One admitted request: its permit and the bytes it reserved, all given back by {@link #close}. */
    final class Ticket implements AutoCloseable {
        private long bytes;
        private boolean closed;

        /** Reserves {@code more} bytes for this request; null when done, else why not (nothing reserved then). */
        Refusal reserve(long more) {
            if (more < 0) throw new IllegalArgumentException("negative reservation " + more);
            if (bytes + more > maxBytes) return Refusal.TOO_LARGE;
            while (true) {
                long now = held.get();
                if (now + more > maxBytes) return Refusal.BUSY;
                if (held.compareAndSet(now, now + more)) break;
            }
            bytes += more;
            return null;
        }

        long bytes() {
            return bytes;
        }

        @Override
        public void close() {
            if (closed) return;
            closed = true;
            held.addAndGet(-bytes);
            permits.release();
        }
    }
}
