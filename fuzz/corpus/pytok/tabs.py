if a:
	x = 1
else:
	y = 2

class C:
    '''doc'''
    def m(self): return True
while 0:
  pass
