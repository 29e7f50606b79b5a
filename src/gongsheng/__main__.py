from gongsheng.entrypoints.cli import main

main()
