"""Use cases of the steward console that the API has no equivalent of: its sign-in
sessions. Every page otherwise calls the API's own service functions."""
