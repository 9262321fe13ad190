"""Prints {tag: [[step, value], ...]} of a TensorBoard log directory as TensorBoard itself loads it (its
EventAccumulator, with its default purging of points a restarted run superseded). Used by PretrainingTest."""
import json
import sys

from tensorboard.backend.event_processing import event_accumulator

acc = event_accumulator.EventAccumulator(sys.argv[1], size_guidance={event_accumulator.SCALARS: 0})
acc.Reload()
print(json.dumps({tag: [[e.step, e.value] for e in acc.Scalars(tag)] for tag in acc.Tags()["scalars"]}))
