"""Improving: action plans (proposal, approval, tasks, results) and the review-meeting agendas and
slides built from the other rooms' queries."""
