"""The paper's method: document vectors (``embed``, Eq. 1), nearest training texts
(``neighbours``, Eq. 2), teacher sets (``teacher``, Algorithm 1) and the network (``model``)."""
