package dev.sparkgpt.checkpoint;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sparkgpt.io.AtomicFiles;
import dev.sparkgpt.io.CheckpointException;
import dev.sparkgpt.io.JsonFiles;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.PrintStream;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.FileAlreadyExistsException;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * The single writer of a run directory. A training run creates {@code out_dir/_LEASE} if absent (host, pid, Spark
 * application id, heartbeat) and refreshes its heartbeat while it runs; a second run on the same out_dir (an Airflow
 * retry while the first driver lives) is refused at once, naming the holder. A lease is stale, and taken over with a
 * log line, when its heartbeat is older than the timeout, or when it names a process on this host that is gone (a
 * killed run resumes at once). Before each checkpoint the holder checks the lease is still its own.
 */
public final class RunLease implements AutoCloseable {
  public static final String FILE = "_LEASE";
  /** Seconds between heartbeats. */
  static final long HEARTBEAT_SECONDS = 30;

  private final Path file;
  private final Configuration conf;
  private final String id = UUID.randomUUID().toString();
  private final Map<String, Object> holder = new LinkedHashMap<>();
  private final ScheduledExecutorService heartbeat;
  private volatile boolean lost;

  private RunLease(Path file, Configuration conf, String appId) {
    this.file = file;
    this.conf = conf;
    holder.put("id", id);
    holder.put("host", hostName());
    holder.put("pid", ProcessHandle.current().pid());
    holder.put("spark_app_id", appId);
    holder.put("started", Instant.now().toString());
    this.heartbeat = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "sparkgpt-lease-heartbeat");
      t.setDaemon(true);
      return t;
    });
  }

  /**
   * Takes the lease of {@code outDir} for this process, or refuses naming its live holder. {@code staleMinutes}:
   * a heartbeat older than this frees the lease; {@code appId} (may be null) is recorded for operators.
   */
  public static RunLease acquire(String outDir, Configuration conf, String appId, double staleMinutes,
      PrintStream log) {
    Path file = new Path(outDir, FILE);
    RunLease lease = new RunLease(file, conf, appId);
    try {
      FileSystem fs = file.getFileSystem(conf);
      fs.mkdirs(file.getParent());
      if (!lease.createIfAbsent(fs)) {
        JsonNode other = read(fs, file);
        String stale = staleness(other, fs.getFileStatus(file).getModificationTime(), staleMinutes);
        if (stale == null) {
          throw new CheckpointException(outDir + ": another run is writing this out_dir: " + describe(other)
              + ". Fix: wait for it to finish, use another out_dir, or, if that run is dead, delete " + file
              + " (it is also taken over by itself " + staleMinutes + " minutes after its last heartbeat)");
        }
        log.printf("warning: %s: taking over the lease of %s (%s)%n", outDir, describe(other), stale);
        fs.delete(file, false);
        if (!lease.createIfAbsent(fs)) {
          throw new CheckpointException(outDir + ": another run took the lease at the same moment: "
              + describe(read(fs, file)) + ". Fix: run one job per out_dir");
        }
      }
    } catch (IOException e) {
      throw new CheckpointException(file + ": cannot take the run's lease: " + e.getMessage()
          + ". Fix: check permissions of out_dir", e);
    }
    lease.heartbeat.scheduleAtFixedRate(lease::beat, HEARTBEAT_SECONDS, HEARTBEAT_SECONDS, TimeUnit.SECONDS);
    return lease;
  }

  private boolean createIfAbsent(FileSystem fs) throws IOException {
    holder.put("heartbeat", Instant.now().toString());
    try (FSDataOutputStream out = fs.create(file, false)) {
      out.write(JsonFiles.toJson(holder).getBytes(StandardCharsets.UTF_8));
      AtomicFiles.sync(out);
      return true;
    } catch (FileAlreadyExistsException e) {
      return false;
    } catch (IOException e) {
      if (fs.exists(file)) {             // some file systems report an existing file with a plain IOException
        return false;
      }
      throw e;
    }
  }

  /** Why {@code lease} is stale, or null while its holder may be alive. */
  static String staleness(JsonNode lease, long modifiedMillis, double staleMinutes) {
    if (lease == null) {
      return "the lease file is unreadable";
    }
    if (hostName().equals(lease.path("host").asText()) && lease.path("pid").canConvertToLong()
        && ProcessHandle.of(lease.path("pid").asLong()).map(p -> !p.isAlive()).orElse(true)) {
      return "process " + lease.path("pid").asLong() + " on this host is gone";
    }
    long beat = modifiedMillis;
    try {
      beat = Math.max(beat, Instant.parse(lease.path("heartbeat").asText()).toEpochMilli());
    } catch (RuntimeException ignored) {
      // no parseable heartbeat: the file's modification time counts
    }
    double idleMinutes = (System.currentTimeMillis() - beat) / 60000.0;
    return idleMinutes > staleMinutes ? String.format("no heartbeat for %.1f minutes", idleMinutes) : null;
  }

  private static JsonNode read(FileSystem fs, Path file) {
    try {
      return JsonFiles.MAPPER.readTree(AtomicFiles.readText(file, fs.getConf()));
    } catch (FileNotFoundException e) {
      return null;
    } catch (IOException e) {
      return null;
    }
  }

  /**
   * The lease, read again a few times while it is missing or unreadable: a file system whose rename-over is a
   * delete and a rename (the local one) shows another process's heartbeat as a moment without the file.
   */
  private static JsonNode readSettled(FileSystem fs, Path file) {
    JsonNode lease = read(fs, file);
    for (int i = 0; i < 5 && lease == null; i++) {
      try {
        Thread.sleep(100);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        break;
      }
      lease = read(fs, file);
    }
    return lease;
  }

  private static String describe(JsonNode lease) {
    if (lease == null) {
      return "(unreadable lease)";
    }
    return "host " + lease.path("host").asText("?") + ", pid " + lease.path("pid").asText("?")
        + (lease.path("spark_app_id").isTextual() ? ", Spark app " + lease.path("spark_app_id").asText() : "")
        + ", started " + lease.path("started").asText("?") + ", last heartbeat " + lease.path("heartbeat").asText("?");
  }

  /** Synchronized with checkHeld and close: a reader of this process never sees the file mid-replacement. */
  private synchronized void beat() {
    try {
      FileSystem fs = file.getFileSystem(conf);
      JsonNode now = readSettled(fs, file);
      if (now == null || !id.equals(now.path("id").asText())) {
        lost = true;
        return;
      }
      holder.put("heartbeat", Instant.now().toString());
      AtomicFiles.writeText(file, JsonFiles.toJson(holder), conf);
    } catch (IOException | RuntimeException e) {
      // a missed heartbeat is retried at the next tick; staleness allows many
    }
  }

  /** Refuses to go on writing when another run has taken the lease over (this one was thought dead). */
  public synchronized void checkHeld() {
    try {
      JsonNode now = readSettled(file.getFileSystem(conf), file);
      if (lost || now == null || !id.equals(now.path("id").asText())) {
        lost = true;
        throw new CheckpointException(file.getParent() + ": this run's lease was taken over by " + describe(now)
            + "; stopping before writing a checkpoint so two runs never write one out_dir. Fix: let the other run "
            + "finish, or raise train.lease_timeout_minutes if heartbeats were delayed");
      }
    } catch (IOException e) {
      throw new CheckpointException(file + ": cannot check the run's lease: " + e.getMessage(), e);
    }
  }

  /** Releases the lease (deletes the file if it is still ours). */
  @Override
  public synchronized void close() {
    heartbeat.shutdownNow();
    try {
      FileSystem fs = file.getFileSystem(conf);
      JsonNode now = readSettled(fs, file);
      if (now != null && id.equals(now.path("id").asText())) {
        fs.delete(file, false);
      }
    } catch (IOException ignored) {
      // a lease left behind names a dead process and is taken over by the next run
    }
  }

  private static String hostName() {
    try {
      return InetAddress.getLocalHost().getHostName();
    } catch (IOException e) {
      return "unknown-host";
    }
  }
}
