"""The scheduler (issue 18): rules derive what is due from the database; a sweep fires each
due item once (a ``firing`` row with a unique key, in the same transaction as its audit
event and notices). See :mod:`regie.scheduler.rules` and :mod:`regie.scheduler.sweep`."""
