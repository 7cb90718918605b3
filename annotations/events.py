"""What happened to annotations, for the apps above this one (notifications) to act on.

Sent by annotations.services inside the write's transaction, so whatever a receiver writes
commits or rolls back with the thing it is about. Receivers must not raise for a reason the
writer cannot help: an exception rolls the write back.
"""

from django.dispatch import Signal

# A new annotation or reply. `mentioned`: ids of the members it @mentions (none for a
# private note).
annotation_created = Signal()  # annotation, mentioned: set[int]
# An edit that mentions members it did not mention before. `mentioned`: their ids.
mentions_added = Signal()  # annotation, mentioned: set[int]
# A reply marked as the answer to its thread's question, by `by`.
answer_marked = Signal()  # reply, by
# A new flag (or a flag raised again after it was resolved).
flag_raised = Signal()  # flag
