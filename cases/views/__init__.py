"""Web views: thin interfaces over access, selectors and services. One module per area."""
