# SIP (RFC 3261) for the door intercom, sans-I/O.
#
# Syntax: grammar (shared lexical helpers), uri, fields (Via, name-addr,
# CSeq), headers (the Headers container), message (parse/build), auth
# (digest). Behaviour: timers, transactions, dialog, call, register, agent.
