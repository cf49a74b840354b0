package org.resnet4j.kernels;

import java.util.concurrent.ForkJoinWorkerThread;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The one compute pool. Kernels split their outermost loop into chunks here; a kernel called
 * from inside a parallel region runs serially (no nested parallelism), so work never
 * oversubscribes the cores.
 *
 * <p>A team of {@code threads - 1} workers plus the calling thread, as an OpenMP parallel region:
 * the caller publishes the region, runs chunks itself, and waits for the rest by spinning. Idle
 * workers spin for {@link #SPIN_NANOS} before they park. A network runs hundreds of short
 * regions per image at batch 1 (each convolution's im2col, GEMM and epilogue; each batch norm),
 * and a ForkJoinPool's park/unpark hand-off cost 25-35 us per region whatever its size
 * (measured with an empty body on this machine); see docs/DECISIONS.md. OpenMP runtimes, which
 * PyTorch uses, spin the same way (libgomp's OMP_WAIT_POLICY / GOMP_SPINCOUNT).
 */
public final class Parallel {
    /** How long an idle worker spins before it parks (system property resnet4j.spin.micros, default 2000). */
    static final long SPIN_NANOS = Long.getLong("resnet4j.spin.micros", 2000) * 1000;

    /** No region: what idle workers wait on. (Declared before the team, which its workers read.) */
    private static final Region IDLE = new Region((a, b) -> {}, 0, 0);

    private static volatile Team team = new Team(Runtime.getRuntime().availableProcessors());

    private Parallel() {}

    /** Sets the number of compute threads (the CLI's --threads). */
    public static synchronized void setThreads(int threads) {
        if (threads < 1) throw new IllegalArgumentException("threads must be >= 1, got " + threads);
        if (threads == team.threads) return;
        Team old = team;
        team = new Team(threads);
        old.shutdown();
    }

    public static int threads() {
        return team.threads;
    }

    /**
     * Tells the pool that no region follows soon (a server between requests): idle workers park
     * now instead of spinning for {@link #SPIN_NANOS}. Spinning pays between the hundreds of
     * regions of one forward pass, but after the last one a spinning worker holds a core that the
     * caller's other work (a server's reading and writing of requests) needs: on 2 cores that cost
     * a served request 1-2 ms. The next region wakes the workers (one unpark each).
     */
    public static void rest() {
        team.resting = true;
    }

    /** A body over the half-open range [from, to). */
    @FunctionalInterface
    public interface RangeBody {
        void run(int from, int to);
    }

    /**
     * Runs body over [0, n) split into at most {@code threads()} contiguous chunks of at least
     * {@code grain} items. Runs inline when there is a single chunk, when already inside a region
     * (on a worker or on the caller of one), or when another thread holds the team.
     */
    public static void forRange(int n, int grain, RangeBody body) {
        if (n <= 0) return;
        Team t = team;
        int chunks = Math.min(t.threads, Math.max(1, n / Math.max(1, grain)));
        Thread me = Thread.currentThread();
        if (chunks <= 1 || me instanceof Worker || me instanceof ForkJoinWorkerThread || !t.lock.tryLock()) {
            body.run(0, n);
            return;
        }
        try {
            if (t.lock.getHoldCount() > 1) body.run(0, n); // nested in this thread's own region
            else t.run(body, n, chunks);
        } finally {
            t.lock.unlock();
        }
    }

    /** One parallel region: its body and chunks; workers that see it late find no chunk left. */
    private static final class Region {
        final RangeBody body;
        final int n, chunks;
        final AtomicInteger nextChunk = new AtomicInteger(), pending;
        volatile Throwable failure;

        Region(RangeBody body, int n, int chunks) {
            this.body = body;
            this.n = n;
            this.chunks = chunks;
            pending = new AtomicInteger(chunks);
        }

        /** Claims and runs chunks until none is left. */
        void runChunks() {
            for (int c; (c = nextChunk.getAndIncrement()) < chunks; ) {
                try {
                    body.run((int) ((long) n * c / chunks), (int) ((long) n * (c + 1) / chunks));
                } catch (Throwable e) {
                    failure = e;
                } finally {
                    pending.decrementAndGet();
                }
            }
        }
    }

    /** The workers and the region they share. */
    private static final class Team {
        final int threads;
        final ReentrantLock lock = new ReentrantLock();
        private final Worker[] workers;
        /** The latest region; a new one wakes the workers. */
        volatile Region current = IDLE;
        volatile boolean stopped;
        /** Set by {@link Parallel#rest}, cleared by the next region: idle workers park without spinning. */
        volatile boolean resting;

        Team(int threads) {
            this.threads = threads;
            workers = new Worker[threads - 1];
            for (int i = 0; i < workers.length; i++) {
                workers[i] = new Worker(this, i + 1);
                workers[i].start();
            }
        }

        void run(RangeBody body, int n, int chunks) {
            Region r = new Region(body, n, chunks);
            if (resting) resting = false; // read first: no store (and no cache-line traffic) per region while busy
            current = r;
            for (Worker w : workers) if (w.parked) LockSupport.unpark(w);
            r.runChunks();
            for (int spins = 0; r.pending.get() > 0; spins++) {
                if (spins < 1 << 16) Thread.onSpinWait();
                else Thread.yield(); // a worker descheduled by the OS: let it run
            }
            current = IDLE; // drops the body, so the region keeps nothing alive
            Throwable f = r.failure;
            if (f instanceof RuntimeException e) throw e;
            if (f instanceof Error e) throw e;
        }

        void shutdown() {
            stopped = true;
            current = IDLE;
            for (Worker w : workers) LockSupport.unpark(w);
        }
    }

    private static final class Worker extends Thread {
        private final Team team;
        volatile boolean parked;

        Worker(Team team, int index) {
            super("resnet4j-compute-" + index);
            this.team = team;
            setDaemon(true);
        }

        @Override
        public void run() {
            Region seen = IDLE; // the team's first region, even if published before this thread ran
            while (true) {
                long spinStart = System.nanoTime();
                for (int spins = 0; team.current == seen && !team.stopped; spins++) {
                    if (!team.resting && ((spins & 255) != 0 || System.nanoTime() - spinStart < SPIN_NANOS)) {
                        Thread.onSpinWait();
                        continue;
                    }
                    parked = true;
                    if (team.current == seen && !team.stopped) LockSupport.park(this); // re-checked after the flag: no lost wake-up
                    parked = false;
                    spinStart = System.nanoTime();
                }
                seen = team.current;
                if (team.stopped) return;
                seen.runChunks();
            }
        }
    }
}
