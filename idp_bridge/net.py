import ipaddress


def is_loopback(host: str | None) -> bool:
    """True for localhost and loopback addresses: the only hosts where plain http is acceptable."""
    if host == "localhost":
        return True
    try:
        return host is not None and ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
