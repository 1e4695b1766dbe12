"""The book's helper package.

One module per concern, each short enough to read in one sitting:

- ``runtime``   device choice, seeding, quick mode and where files are kept
- ``data``      synthetic data and the torchvision data sets, with an honest offline fallback
- ``train``     the one training loop the book uses (progress, live plot, checkpoints)
- ``plot``      the book's plotting style and a few recurring figures
- ``widgets``   one pattern for every interactive figure (live in Jupyter, static in the book)
- ``playground``  the 2-D decision-boundary playground (small MLPs on points in the plane)
- ``gradcheck``   finite-difference gradient checking, with its failure modes explained
- ``stats``       per-layer statistics of a network on one batch (debug the variance)
- ``exercises`` checkers that tell a student exactly what is wrong with an answer

The notebooks import what they need from these modules by name; nothing is re-exported here,
so every helper a chapter uses can be found by following its import.
"""
