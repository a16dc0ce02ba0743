# expect: SC-IMG-004@3 DF-002@5
ARG BASE
FROM ${BASE}
# inherits nothing useful; uid 0 explicitly
USER 0:0
