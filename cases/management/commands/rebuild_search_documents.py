from cases.management.rebuild import RebuildCommand
from cases.services.search import cases_rebuild_search


class Command(RebuildCommand):
    help = (
        "Recompute each case's search document (Case.search_names and search_petitions: its "
        "people's codes, its authorities' names, its petitions' references and titles, which "
        "the case list's search reads) from those rows. Safe to run any time; a second run "
        "changes nothing."
    )
    rebuild = staticmethod(cases_rebuild_search)
    rebuilt = "Search documents"
