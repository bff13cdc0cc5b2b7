"""Simulated drivers: kernel code that uses the uaccess API, run on sim.Kernel.

- `sim.drivers.cdev`: the seed article's character device, defects included.
"""
