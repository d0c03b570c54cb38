from imagedesigner.cli.main import app

app()
