import logging
import signal
import sys
import watchtower
