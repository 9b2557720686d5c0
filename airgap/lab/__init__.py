"""The lab: a synthetic fleet, captures as devices print them, and a simulated CSSM.

Nothing here talks to Cisco: it exists so that the whole offline round trip can run for
training, tests, benchmarks and ``airgap demo`` where no Cisco service is reachable. Every file
it writes says it is simulated (``LAB`` serials, ``.lab`` hostnames, a lab account name).
"""

from airgap.validate.rules import LAB_DOMAIN as LAB_DOMAIN  # the domain of every lab ACK
