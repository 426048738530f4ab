"""The RQ worker process: job functions (``workers.jobs``, a wire format), the warm forking worker
(``workers.worker``), queue status for people (``jobqueue.status``) and test helpers (``testkit``)."""
