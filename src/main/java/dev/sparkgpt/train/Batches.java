package dev.sparkgpt.train;

import java.io.Serializable;

/** Micro-batches of one optimizer step ([micro-batch][row][position]) and how many real target tokens they hold. */
public record Batches(int[][][] inputs, int[][][] targets, long tokens) implements Serializable {}
