"""The ``ticketlab`` command line."""
