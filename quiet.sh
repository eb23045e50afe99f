n=$(cat /q 2>/dev/null || echo 0); n=$((n + 1)); echo $n >/q
if [ $n -eq 1 ]; then echo "score: 5"; else echo "no number here"; fi
