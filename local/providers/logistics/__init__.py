"""The kuaidi100 (快递100) emulator: subscription pushes signed as kuaidi100 signs them."""
