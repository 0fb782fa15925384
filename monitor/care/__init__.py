"""Social customer care: which posts need an answer, the brand's answers, the queue and its KPIs."""
