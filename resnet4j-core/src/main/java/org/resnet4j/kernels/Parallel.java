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
     * (on a worker or on the caller of one), or when another thread holds the team. The chunks
     * depend only on n, grain and the thread count, so a loop that keeps a sum per chunk gets the
     * same bits on every call (see {@link #forRangeGuided} for loops that do not).
     */
    public static void forRange(int n, int grain, RangeBody body) {
        Team t = team;
        int chunks = Math.min(t.threads, Math.max(1, n / Math.max(1, grain)));
        enter(t, n, body, chunks > 1 ? new Region(body, n, chunks) : null);
    }

    /**
     * Guided scheduling ({@code -Dresnet4j.parallel.guided=false} falls back to {@link #forRange},
     * for A/B runs): resnet20 training at 256 bits on 2 threads, three alternating rounds, went
     * from 345 / 541 / 569 to 459 / 550 / 559 img/s at 1x28x28 and from 321 / 421 / 431 to 373 /
     * 448 / 450 at 3x32x32; the rounds where another process held part of a core gained most.
     */
    static final boolean GUIDED = !"false".equals(System.getProperty("resnet4j.parallel.guided"));

    /**
     * Runs body over [0, n) in chunks that threads claim as they become free, each a share of what
     * is left (OpenMP's schedule(guided)): the first chunks are large, the last ones {@code grain}
     * items, so a thread whose core is slower (another process on it) takes fewer and the region
     * ends when the work does. For loops whose result does not depend on which thread runs which
     * items (each output written by one chunk, sums in an order of their own). Runs inline as
     * {@link #forRange} does.
     */
    public static void forRangeGuided(int n, int grain, RangeBody body) {
        if (!GUIDED) {
            forRange(n, grain, body);
            return;
        }
        Team t = team;
        int g = Math.max(1, grain);
        enter(t, n, body, t.threads > 1 && n >= 2 * g ? new Region(body, n, g, t.threads) : null);
    }

    /**
     * Runs region r on team t; or body over [0, n) inline when r is null (a single chunk), when
     * already inside a region (on a worker or on the caller of one), or when another thread holds
     * the team.
     */
    private static void enter(Team t, int n, RangeBody body, Region r) {
        if (n <= 0) return;
        Thread me = Thread.currentThread();
        if (r == null || me instanceof Worker || me instanceof ForkJoinWorkerThread || !t.lock.tryLock()) {
            body.run(0, n);
            return;
        }
        try {
            if (t.lock.getHoldCount() > 1) body.run(0, n); // nested in this thread's own region
            else t.run(r);
        } finally {
            t.lock.unlock();
        }
    }

    /** One parallel region: its body and chunks; workers that see it late find no chunk left. */
    private static final class Region {
        final RangeBody body;
        final int n, chunks, grain, threads;
        /** The next chunk's index; in a guided region, the next chunk's first item. */
        final AtomicInteger nextChunk = new AtomicInteger(), pending;
        volatile Throwable failure;

        Region(RangeBody body, int n, int chunks) {
            this.body = body;
            this.n = n;
            this.chunks = chunks;
            this.grain = 0;
            this.threads = 0;
            pending = new AtomicInteger(chunks);
        }

        /** A guided region: chunks of max(grain, left / (2 threads)) items, pending counts items. */
        Region(RangeBody body, int n, int grain, int threads) {
            this.body = body;
            this.n = n;
            this.chunks = 0;
            this.grain = grain;
            this.threads = threads;
            pending = new AtomicInteger(n);
        }

        /** Claims and runs chunks until none is left. */
        void runChunks() {
            if (grain > 0) {
                for (int from; (from = nextChunk.get()) < n; ) {
                    int size = Math.max(grain, (n - from) / (2 * threads)), to = Math.min(n, from + size);
                    if (!nextChunk.compareAndSet(from, to)) continue;
                    try {
                        body.run(from, to);
                    } catch (Throwable e) {
                        failure = e;
                    } finally {
                        pending.addAndGet(from - to);
                    }
                }
                return;
            }
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

        void run(Region r) {
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
