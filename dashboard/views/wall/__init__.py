"""The wall's view models: the live and period models (model.py), the ticker rows
(ticker.py) and the service that shares them between screens (service.py)."""
