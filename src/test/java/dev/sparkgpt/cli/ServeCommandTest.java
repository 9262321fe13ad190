package dev.sparkgpt.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sparkgpt.config.ConfigException;
import dev.sparkgpt.config.ModelConfig;
import dev.sparkgpt.generate.Generator;
import dev.sparkgpt.model.GptModel;
import dev.sparkgpt.model.OneThread;
import dev.sparkgpt.serve.OpenAiServer;
import dev.sparkgpt.tokenizer.Tokenizer;
import dev.sparkgpt.tokenizer.Tokenizers;
import dev.sparkgpt.train.GptStepModel;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import picocli.CommandLine;

/** {@code serve}'s options: where it listens by default, and the limits it refuses. */
class ServeCommandTest {
  @Test
  void byDefaultServeListensOnLoopbackOnly() throws Exception {
    ServeCommand serve = new ServeCommand();
    new CommandLine(serve).parseArgs("--checkpoint", "runs/x");
    assertEquals("127.0.0.1", serve.host);
    assertEquals(8000, serve.port);
    assertEquals(16, serve.queue);

    // the server bound the way serve binds it, on a free port: the address is the loopback one
    OneThread.pin();
    Tokenizer tok = Tokenizers.load("gpt2");
    GptModel model = GptModel.initialize(new ModelConfig(50257, 16, 8, 2, 1, 0.0, false, true), DataType.FLOAT, 1);
    try (OpenAiServer server = new OpenAiServer("x", List.of(new OpenAiServer.Worker(
        new Generator(new GptStepModel(model, null).scorer(), tok), tok, 16)), serve.queue, 1024, 4,
        new PrintStream(OutputStream.nullOutputStream()))) {
      int port = server.start(serve.host, 0);
      InetSocketAddress bound = server.address();
      assertTrue(bound.getAddress().isLoopbackAddress(), bound.toString());
      assertEquals("127.0.0.1", bound.getAddress().getHostAddress());
      assertEquals(port, bound.getPort());
    }
  }

  @Test
  void aNegativeQueueIsRefusedNamingTheOptionAndWhatZeroMeans() {
    String[] r = MainTest.run("", "serve", "--checkpoint", "runs/none", "--queue", "-1");
    assertEquals("2", r[0]);
    assertEquals("error: --queue: must be ≥ 0, got -1. Fix: 0 = no request waits: 429 whenever every worker is "
        + "busy\n", r[2]);
    String[] w = MainTest.run("", "serve", "--checkpoint", "runs/none", "--workers", "0");
    assertTrue(w[2].startsWith("error: --workers: must be ≥ 1, got 0."), w[2]);
  }

  @Test
  void theKeyComesFromTheFlagOrTheEnvironmentAndIsRequiredOffLoopback() {
    Map<String, String> env = Map.of("SPARKGPT_API_KEY", "from-env");
    assertEquals("from-flag", ServeCommand.apiKey("from-flag", env, "0.0.0.0"), "the flag wins");
    assertEquals("from-env", ServeCommand.apiKey(null, env, "0.0.0.0"));
    assertNull(ServeCommand.apiKey(null, Map.of(), "127.0.0.1"), "loopback needs none");
    ConfigException open = assertThrows(ConfigException.class, () -> ServeCommand.apiKey(null, Map.of(),
        "0.0.0.0"));
    assertTrue(open.getMessage().startsWith("--host: 0.0.0.0 is not a loopback address, and the server has no API "
        + "key"), open.getMessage());
    ConfigException blank = assertThrows(ConfigException.class, () -> ServeCommand.apiKey(null, Map.of(
        "SPARKGPT_API_KEY", " "), "127.0.0.1"));
    assertTrue(blank.getMessage().startsWith("--api-key: is empty"), blank.getMessage());
  }
}
