"""`simlock explore`: a local web app where a student moves a policy's levers and sees the
report's figures change, beside the baseline, and exports the setting as a variant.

A layer between the command line and execution (cli -> explorer -> execution in the
import-linter contract): it uses the report and the execution layers; only the command line
imports it. `model` is the logic (testable without a browser); `app` is the page (Panel, imported
only when the page is served).
"""
