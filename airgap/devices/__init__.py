"""The device end of the reporting cycle over SSH (DESIGN.md "Devices").

``session`` logs in to one device (host key pinned, a small prompt reader, SCP); ``header``
writes the header every capture airgap collects starts with; ``cycle`` carries out the steps an
operator would type on each device: ``check`` (reachable, host key, privilege, SCP, UDI),
``collect`` (captures, save usage, copy off, verify, validate, write) and ``push`` (match and
validate each ACK, copy on, import, capture after, the diff verdict). One device's failure never
stops the others.
"""
