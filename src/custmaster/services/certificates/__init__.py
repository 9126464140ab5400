"""Tax-exemption certificates that expire: the list/export filter and the daily check
that sends each expiry notice once (issue 17)."""
