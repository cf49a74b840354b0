package org.resnet4j.serve;

import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/**
 * The threads that run requests: platform threads kept warm up to a bound, and past it one
 * virtual thread per request. A platform thread reads the request body with blocking socket reads;
 * a virtual thread that finds the socket empty parks, and the JDK's poller thread has to wake it
 * for each of the body's 8 KiB reads, a hand-off per read that on 2 cores cost a 602 KB request
 * about half of its reading time, and about as much again in writing the answer. The virtual
 * threads keep what they were chosen for: any number of slow clients (up to their time limit)
 * hold no platform thread beyond the bound.
 */
final class RequestThreads implements Executor {
    private final ThreadPoolExecutor platform;
    private final ExecutorService virtual = Executors.newVirtualThreadPerTaskExecutor();

    /** @param platformThreads most platform threads (the requests admitted at once is a fitting bound) */
    RequestThreads(int platformThreads) {
        // as a cached pool: no queue, so a task runs on an idle thread, else on a new one while
        // fewer than the bound exist, else it is refused and goes virtual; idle threads end after 30 s
        platform = new ThreadPoolExecutor(0, platformThreads, 30, TimeUnit.SECONDS, new SynchronousQueue<>(),
                Thread.ofPlatform().name("resnet4j-http-", 0).daemon().factory());
    }

    @Override
    public void execute(Runnable task) {
        try {
            platform.execute(task);
        } catch (RejectedExecutionException busy) {
            virtual.execute(task); // refused in turn once closed: the JDK's server then closes the connection
        }
    }

    /** Platform threads running or idle now. */
    int platformThreads() {
        return platform.getPoolSize();
    }

    /** Lets running requests finish, within {@code timeout}. */
    void close(long timeout, TimeUnit unit) {
        platform.shutdown();
        virtual.shutdown();
        long end = System.nanoTime() + unit.toNanos(timeout);
        try {
            platform.awaitTermination(timeout, unit);
            virtual.awaitTermination(Math.max(0, end - System.nanoTime()), TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
