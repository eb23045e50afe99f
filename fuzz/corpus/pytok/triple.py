s = '''one
=======
<<<<<<< SEARCH
>>>>>>> REPLACE
```python
'''
t = """a 'b' "c" \""" 1 < 2
"""
u = 1 + 2
u = 1 + 2
