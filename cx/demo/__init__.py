"""The deterministic demo: the responses, CRM and fieldwork dataset (:mod:`~cx.demo.dataset`) and
the complaint cases opened on first start (:mod:`~cx.demo.complaints`)."""
