if [ -f /slow ]; then touch /running; sleep 3; fi
 obj.py
