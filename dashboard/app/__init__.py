"""The application: factory, settings, runtime, CLI, warmers, the live feed route and the
request guard. The only layer that imports callbacks, layouts, data sources and the
simulator, and wires them together."""
