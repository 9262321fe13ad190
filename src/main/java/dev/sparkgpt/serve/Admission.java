package dev.sparkgpt.serve;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.Semaphore;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;

/**
 * Who may use a model worker: one place per worker plus one per queue slot. A request takes a place before its body
 * is even read ({@link #tryEnter}; none free = 429), so a flood of requests costs the server no parsing or
 * tokenizing; it gives the place back when its generation ends ({@link Lease#release}) or when it fails before that.
 */
final class Admission {
  /** A worker held by one request, given back (with the request's place) once, when its generation ends. */
  final class Lease {
    final OpenAiServer.Worker worker;
    private final AtomicBoolean released = new AtomicBoolean();

    Lease(OpenAiServer.Worker worker) {
      this.worker = worker;
    }

    void release() {
      if (released.compareAndSet(false, true)) {
        idle.add(worker);
        places.release();
      }
    }
  }

  private final BlockingQueue<OpenAiServer.Worker> idle;
  private final int workers;
  private final int queueCapacity;
  private final Semaphore places;
  private final ThreadPoolExecutor executor;

  Admission(List<OpenAiServer.Worker> workers, int queueCapacity) {
    if (workers.isEmpty()) {
      throw new IllegalArgumentException("a server needs at least one worker");
    }
    if (queueCapacity < 0) {
      throw new IllegalArgumentException("queue capacity must be ≥ 0, got " + queueCapacity);
    }
    this.idle = new LinkedBlockingQueue<>(workers);
    this.workers = workers.size();
    this.queueCapacity = queueCapacity;
    this.places = new Semaphore(workers.size() + queueCapacity);
    // the queue is bounded by the places: at most workers + queueCapacity tasks exist at once
    this.executor = new ThreadPoolExecutor(workers.size(), workers.size(), 0, TimeUnit.SECONDS,
        new LinkedBlockingQueue<>(), r -> {
          Thread t = new Thread(r, "serve-model");
          t.setDaemon(true);
          return t;
        });
  }

  /** Takes a place, or answers 429 when every worker and queue slot is taken. */
  void tryEnter() {
    if (!places.tryAcquire()) {
      throw new ApiError(429, "rate_limit_exceeded", null, "queue_full", "the server is busy (" + workers
          + " running, " + queueCapacity + " queued); retry later");
    }
  }

  /** Gives back a place taken by {@link #tryEnter} whose request never reached {@link #submit}. */
  void leave() {
    places.release();
  }

  /** Runs {@code job} on a worker as soon as one is free; the job must release its lease. */
  void submit(Consumer<Lease> job) {
    try {
      executor.execute(() -> {
        Lease lease = new Lease(idle.poll());
        try {
          job.accept(lease);
        } finally {
          lease.release();
        }
      });
    } catch (RejectedExecutionException e) {
      places.release();
      throw new ApiError(503, "server_error", null, "shutting_down", "the server is stopping; retry later");
    }
  }

  int workers() {
    return workers;
  }

  /**
   * status "ok" while a request would be admitted, "saturated" while every place is taken (new requests get
   * 429), with the counts behind it.
   */
  Map<String, Object> health() {
    int running = workers - idle.size();
    int free = places.availablePermits();
    Map<String, Object> health = new LinkedHashMap<>();
    health.put("status", free > 0 ? "ok" : "saturated");
    health.put("workers", workers);
    health.put("running", running);
    health.put("queued", executor.getQueue().size());
    health.put("queue_capacity", queueCapacity);
    health.put("free_places", free);
    return health;
  }

  /** Lets running and queued jobs finish for up to {@code graceSeconds}, then interrupts them. */
  void shutdown(int graceSeconds) {
    executor.shutdown();
    try {
      executor.awaitTermination(graceSeconds, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    executor.shutdownNow();
  }
}
