"""Run a notebook top to bottom in a real Jupyter kernel started in `folder`, as a reader would."""
import nbclient


def execute(notebook, folder):
    """Executes `notebook` in place; fails on any cell that raised."""
    client = nbclient.NotebookClient(notebook, timeout=600, kernel_name="python3",
                                     resources={"metadata": {"path": str(folder)}})
    client.execute()  # raises CellExecutionError, with the failing cell, on any error
    errors = [out for cell in notebook.cells if cell.cell_type == "code"
              for out in cell.get("outputs", []) if out.get("output_type") == "error"]
    assert not errors
