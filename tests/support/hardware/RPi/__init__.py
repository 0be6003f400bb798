# A stand-in for the RPi package (RPi.GPIO) on machines without GPIO; see GPIO.py.
