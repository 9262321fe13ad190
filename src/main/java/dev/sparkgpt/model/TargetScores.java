package dev.sparkgpt.model;

/**
 * Per-position scores of given next tokens ({@link GptModel#targetLogProbs}): {@code logProbs[b][t]} = ln p(target
 * | inputs[b][0..t]) and {@code greedy[b][t]} = whether the target is the first index of the largest logit there
 * (greedy decoding would produce it); NaN and false at positions that were not scored.
 */
public record TargetScores(double[][] logProbs, boolean[][] greedy) {}
