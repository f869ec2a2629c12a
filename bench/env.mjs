// Every bench times its processes in the environment xenbridge runs in. systemd's and xl's carry no
// NODE_EXTRA_CA_CERTS; where a shell sets it, node parses that bundle at every start (50-80 ms of a
// 110 ms `node -e 0` here), which swells the floor's node as much as ours and flatters every ratio.
delete process.env.NODE_EXTRA_CA_CERTS;
