package dev.sparkgpt.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sparkgpt.config.ClassifyConfig;
import dev.sparkgpt.config.ConfigException;
import dev.sparkgpt.config.InstructConfig;
import dev.sparkgpt.config.LoraConfig;
import java.util.List;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** finetune's own flags: --lora.* land in the config exactly as the equivalent --set overrides. */
class FinetuneJobTest {
  private static ClassifyConfig classify(String... args) {
    FinetuneJob.Classify command = new FinetuneJob.Classify();
    new CommandLine(command).parseArgs(args);
    return command.options.resolve(ClassifyConfig.class, ClassifyConfig.defaults());
  }

  private static InstructConfig instruct(String... args) {
    FinetuneJob.Instruct command = new FinetuneJob.Instruct();
    new CommandLine(command).parseArgs(args);
    return command.options.resolve(InstructConfig.class, InstructConfig.defaults());
  }

  @Test
  void loraFlagsEqualTheirSetOverrides() {
    LoraConfig expected = new LoraConfig(4, 8, 0, List.of("attn_qkv", "head"));
    ClassifyConfig flags = classify("--config", "conf/finetune/spam.yaml", "--lora.r", "4", "--lora.alpha", "8",
        "--lora.dropout", "0", "--lora.targets", "attn_qkv,head");
    assertEquals(expected, flags.lora());
    assertEquals(flags, classify("--config", "conf/finetune/spam.yaml", "--set", "lora.r=4", "--set", "lora.alpha=8",
        "--set", "lora.dropout=0", "--set", "lora.targets=[attn_qkv, head]"));
    assertEquals(expected, instruct("--config", "conf/finetune/alpaca.yaml", "--lora.r=4", "--lora.alpha=8",
        "--lora.targets=attn_qkv,head").lora());
    assertEquals(LoraConfig.defaults(), instruct("--config", "conf/finetune/alpaca.yaml").lora(), "no flag, no change");
    assertEquals(2, classify("--set", "lora.r=9", "--lora.r", "2").lora().r(), "a flag wins over --set");

    assertEquals(0.1, classify("--config", "conf/finetune/spam.yaml", "--lora.r", "4", "--lora.dropout", "0.1")
        .validate().lora().dropout());
    ConfigException dropout = assertThrows(ConfigException.class, () -> classify("--lora.r", "4", "--lora.dropout",
        "1").validate());
    assertTrue(dropout.getMessage().contains("lora.dropout: 1.0 is outside [0, 1)"), dropout.getMessage());
  }
}
