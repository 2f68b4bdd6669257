from cases.management.rebuild import RebuildCommand
from cases.services.deadlines import cases_rebuild_next_deadlines


class Command(RebuildCommand):
    help = (
        "Recompute each case's next open deadline (Case.next_deadline_on, what the case list "
        "shows and sorts on) from its deadlines. Safe to run any time; a second run changes "
        "nothing."
    )
    rebuild = staticmethod(cases_rebuild_next_deadlines)
    rebuilt = "Next deadlines"
