package dev.sparkgpt.serve;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Whether the client of a non-streaming request is still connected while its answer is computed. The JDK server
 * neither reads a connection nor shows a handler its socket until the answer is written, so the kernel's own view
 * is asked instead: Linux lists every TCP socket of the process's network namespace in {@code /proc/net/tcp} and
 * {@code tcp6}. A client that closed its end (FIN: our side is in CLOSE_WAIT) or reset it (the socket is gone from
 * the table) has left, as uvicorn (vLLM's server) counts an end of input as a disconnect. The answer is "unknown"
 * where those tables cannot be read (not Linux) or do not show our listening socket (another namespace): then
 * nothing is cancelled, and the request's deadline bounds the work.
 */
final class ClientConnection {
  /** What the kernel says about one connection. */
  enum State { OPEN, GONE, UNKNOWN }

  private static final List<Path> TABLES = List.of(Path.of("/proc/net/tcp"), Path.of("/proc/net/tcp6"));
  private static final String LISTEN = "0A";
  /** CLOSE_WAIT (the client sent FIN), LAST_ACK and CLOSE: the client's side is finished. */
  private static final List<String> CLOSING = List.of("08", "09", "07");

  /** Tables read this recently serve every waiting request (one read per tick, not one per request). */
  private static final long FRESH_NANOS = 100_000_000L;

  /** The tables' lines as read at {@code nanos}. */
  private record Snapshot(long nanos, List<Path> tables, List<List<String>> lines) {}

  private static volatile Snapshot last;

  private final InetSocketAddress local;
  private final InetSocketAddress remote;
  private final List<Path> tables;
  private final long created = System.nanoTime();

  /** The connection between our {@code local} end and the client's {@code remote} one. */
  ClientConnection(InetSocketAddress local, InetSocketAddress remote) {
    this(local, remote, TABLES);
  }

  ClientConnection(InetSocketAddress local, InetSocketAddress remote, List<Path> tables) {
    this.local = local;
    this.remote = remote;
    this.tables = tables;
  }

  /** Reads the kernel's tables now (a few kilobytes per open connection of the machine). */
  State state() {
    if (local == null || remote == null) {
      return State.UNKNOWN;
    }
    boolean listenerSeen = false;
    for (List<String> lines : tables()) {
      for (int i = 1; i < lines.size(); i++) {
        String[] f = lines.get(i).trim().split("\\s+");
        if (f.length < 4) {
          continue;
        }
        InetSocketAddress from = address(f[1]);
        if (from == null || from.getPort() != local.getPort()) {
          continue;
        }
        if (f[3].equals(LISTEN)) {
          listenerSeen = true;
        } else if (from.getAddress().equals(local.getAddress()) && remote.equals(address(f[2]))) {
          return CLOSING.contains(f[3]) ? State.GONE : State.OPEN;
        }
      }
    }
    return listenerSeen ? State.GONE : State.UNKNOWN; // listed listener, unlisted connection: reset and gone
  }

  /**
   * The tables' lines (an unreadable table: none), shared with other requests when read after this connection was
   * accepted (an older reading may not list it yet) and less than {@link #FRESH_NANOS} ago.
   */
  private List<List<String>> tables() {
    Snapshot s = last;
    long now = System.nanoTime();
    if (s != null && s.tables() == tables && s.nanos() - created >= 0 && now - s.nanos() < FRESH_NANOS) {
      return s.lines();
    }
    List<List<String>> lines = new java.util.ArrayList<>();
    for (Path table : tables) {
      try {
        lines.add(Files.readAllLines(table));
      } catch (IOException | SecurityException e) {
        lines.add(List.of());
      }
    }
    last = new Snapshot(now, tables, lines);
    return lines;
  }

  /**
   * "0100007F:1F90" (IPv4) or 32 hex digits ":PORT" (IPv6) as the kernel prints them: each 32-bit word of the
   * address in the machine's byte order, the port in hex. An IPv4-mapped IPv6 address comes back as IPv4.
   */
  static InetSocketAddress address(String field) {
    int colon = field.indexOf(':');
    if (colon != 8 && colon != 32) {
      return null;
    }
    try {
      ByteBuffer bytes = ByteBuffer.allocate(colon / 2).order(ByteOrder.nativeOrder());
      for (int w = 0; w < colon; w += 8) {
        bytes.putInt((int) Long.parseLong(field.substring(w, w + 8), 16));
      }
      return new InetSocketAddress(InetAddress.getByAddress(bytes.array()), Integer.parseInt(field.substring(
          colon + 1), 16));
    } catch (NumberFormatException | UnknownHostException e) {
      return null;
    }
  }
}
