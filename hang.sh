n=$(cat /h 2>/dev/null || echo 0); n=$((n + 1)); echo $n >/h
if [ $n -gt 1 ]; then
    trap "" TERM
    (trap "" TERM; echo $$ >/child.pid; exec sleep 120) &
    sh -c "echo \$\$ >/grandchild.pid; trap \"\" TERM; exec sleep 120" &
    wait
fi
echo "score: 5"
