"""RQ jobs: plain functions taking ids. Enqueued by dotted name (`"jobs.send.send_batch"`)."""
