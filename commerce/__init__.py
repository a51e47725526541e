"""Customer orders: channels, stock, fulfilment, payments, returns, invoices."""
