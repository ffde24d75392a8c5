"""Settings for the whole test run."""

import signal

# A run started in the background (`cmd &`, some CI runners) inherits SIGINT
# ignored, and so would every program a test starts and then stops as Ctrl-C
# does: the batch's resume test and talk's Ctrl-C test would wait in vain. A
# handler here becomes SIG_DFL again in each program the tests start.
signal.signal(signal.SIGINT, signal.default_int_handler)
